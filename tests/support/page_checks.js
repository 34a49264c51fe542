// What the crawl (tests/e2e/test_crawl.py) checks of a loaded page besides axe-core; loaded by
// tests/support/page_checks.py with page.evaluate(), never served by the site. One function,
// called with the name of a check:
//
// - "settled": true when every custom element on the page is defined and, for the GC Design
//   System's (Stencil) components, hydrated (until then they are hidden and have no shadow).
// - "controls": every visible button and link (a[href], button, input[type=submit|button|reset],
//   [role=button], [role=link]), into open shadow roots, must have accessible text, and each
//   visible piece of its text must contrast with its own effective background: the first
//   non-transparent background-color from the text's element up (the control's own background
//   included), the semi-transparent ones blended on the way; 4.5:1, or 3:1 for large text
//   (24px, or 18.66px bold). Disabled controls are exempt (WCAG 1.4.3). A background image or
//   gradient on the way makes the background unknown: not reported.
// - "overflow": null when the page does not scroll sideways (scrollWidth <= innerWidth + 1), or
//   where it sticks out: the widest element (or text) and the outermost element that sticks out
//   around it.
(check) => {
  const CONTROLS = [
    'a[href]', 'button', 'input[type=submit]', 'input[type=button]', 'input[type=reset]',
    '[role=button]', '[role=link]',
  ].join(', ');

  // The flat tree: a slotted node's parent is its slot; a shadow root's child's is the host.
  const parentOf = node => {
    if (node.assignedSlot) return node.assignedSlot;
    if (node.parentElement) return node.parentElement;
    const root = node.parentNode;
    return root && root.host ? root.host : null;
  };
  const childrenOf = node => {
    if (node.localName === 'slot') {
      const assigned = node.assignedNodes({flatten: true});
      return assigned.length ? assigned : [...node.childNodes];
    }
    return [...(node.shadowRoot || node).childNodes];
  };
  // Every element of the document, in its open shadow roots too.
  const everything = (root = document) => {
    const found = [];
    for (const element of root.querySelectorAll('*')) {
      found.push(element);
      if (element.shadowRoot) found.push(...everything(element.shadowRoot));
    }
    return found;
  };
  const styles = new Map();
  const style = element => {
    if (!styles.has(element)) styles.set(element, getComputedStyle(element));
    return styles.get(element);
  };

  // A short selector to find the element by: tag#id.class.class, in its host when shadowed.
  const describe = element => {
    let text = element.localName;
    if (element.id) text += `#${element.id}`;
    for (const name of [...element.classList].slice(0, 4)) text += `.${name}`;
    const root = element.getRootNode();
    return root && root.host ? `${describe(root.host)} >>> ${text}` : text;
  };
  const squeeze = text => text.replace(/\s+/g, ' ').trim();
  const excerpt = text => {
    const squeezed = squeeze(text);
    return squeezed.length > 40 ? `${squeezed.slice(0, 39)}…` : squeezed;
  };

  if (check === 'settled') {
    return everything().every(element =>
      !element.localName.includes('-') || (element.matches(':defined') &&
        (!element.localName.startsWith('gcds-') || element.classList.contains('hydrated'))));
  }

  // --- What people see ------------------------------------------------------------------------
  const shownCache = new Map();
  const shown = element => {
    if (shownCache.has(element)) return shownCache.get(element);
    let result = true;
    if (style(element).display === 'contents') {  // no box of its own (a slot): its parent's
      const parent = parentOf(element);
      result = Boolean(parent) && parent.nodeType === Node.ELEMENT_NODE && shown(parent);
      shownCache.set(element, result);
      return result;
    }
    if (element.checkVisibility &&
        !element.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) {
      result = false;
    } else {
      const rect = element.getBoundingClientRect();
      if (rect.width <= 1 || rect.height <= 1) result = false;  // .visually-hidden is 1px
      else if (rect.right + scrollX <= 0 || rect.bottom + scrollY <= 0) result = false;
    }
    if (result) {
      const parent = parentOf(element);
      const own = style(element);
      if (own.clip === 'rect(0px, 0px, 0px, 0px)' || own.clipPath === 'inset(50%)') {
        result = false;
      } else if (parent && parent.nodeType === Node.ELEMENT_NODE && parent !== document.body) {
        result = shownClip(parent);
      }
    }
    shownCache.set(element, result);
    return result;
  };
  // Only the clipping of the ancestors matters there (their size may be 0: display: contents).
  const clipCache = new Map();
  const shownClip = element => {
    if (clipCache.has(element)) return clipCache.get(element);
    const own = style(element);
    let result = !(own.clip === 'rect(0px, 0px, 0px, 0px)' || own.clipPath === 'inset(50%)');
    const parent = parentOf(element);
    if (result && parent && parent.nodeType === Node.ELEMENT_NODE && parent !== document.body) {
      result = shownClip(parent);
    }
    clipCache.set(element, result);
    return result;
  };

  // --- Accessible text (a plain version of the accessible name computation) --------------------
  const SILENT = new Set(['script', 'style', 'template', 'noscript']);
  const textOf = node => {
    if (node.nodeType === Node.TEXT_NODE) return node.data;
    if (node.nodeType !== Node.ELEMENT_NODE || SILENT.has(node.localName)) return '';
    if (node.getAttribute('aria-hidden') === 'true') return '';
    const own = style(node);
    if (own.display === 'none' || own.visibility === 'hidden') return '';
    const label = node.getAttribute('aria-label');
    if (label && label.trim()) return label;
    if (node.localName === 'img' || node.localName === 'area') return node.getAttribute('alt') || '';
    if (node.localName === 'svg') {
      const title = node.querySelector('title');
      return title ? title.textContent : '';
    }
    if (node.localName === 'input') return ['submit', 'button', 'reset'].includes(node.type) ? node.value : '';
    return childrenOf(node).map(textOf).join(' ');
  };
  const nameOf = control => {
    const ids = control.getAttribute('aria-labelledby');
    if (ids) {
      const root = control.getRootNode();
      const parts = ids.split(/\s+/).map(id => root.getElementById(id)).filter(Boolean);
      const text = parts.map(part => childrenOf(part).map(textOf).join(' ')).join(' ');
      if (text.trim()) return text;
    }
    const label = control.getAttribute('aria-label');
    if (label && label.trim()) return label;
    if (control.localName === 'input') {
      if (control.hasAttribute('value')) return control.value || control.title || '';
      return control.type === 'button' ? control.title || '' : control.type;  // "Submit", "Reset"
    }
    const text = childrenOf(control).map(textOf).join(' ');
    if (text.trim()) return text;
    return control.getAttribute('title') || '';
  };

  // --- Colours ------------------------------------------------------------------------------
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const paint = canvas.getContext('2d', {willReadFrequently: true});
  const parseCache = new Map();
  const parse = value => {
    if (parseCache.has(value)) return parseCache.get(value);
    let rgba;
    const match = value.match(/^rgba?\(([^)]*)\)$/);
    if (match) {
      const parts = match[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      rgba = [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
    } else {  // color(srgb …), oklch(…), color-mix(…): let the browser paint it
      paint.clearRect(0, 0, 1, 1);
      paint.fillStyle = '#000';
      paint.fillStyle = value;
      paint.fillRect(0, 0, 1, 1);
      const data = paint.getImageData(0, 0, 1, 1).data;
      rgba = [data[0], data[1], data[2], data[3] / 255];
    }
    parseCache.set(value, rgba);
    return rgba;
  };
  const over = ([r, g, b, a], [R, G, B]) =>
    [r * a + R * (1 - a), g * a + G * (1 - a), b * a + B * (1 - a)];
  // The colour behind an element's text: its own background, else its ancestors'.
  const backgroundCache = new Map();
  const backgroundOf = element => {
    if (backgroundCache.has(element)) return backgroundCache.get(element);
    const layers = [];
    let known = true;
    for (let node = element; node; node = parentOf(node)) {
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      const own = style(node);
      if (own.backgroundImage && own.backgroundImage !== 'none') {
        known = false;
        break;
      }
      const colour = parse(own.backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] >= 1) break;
    }
    let result = null;
    if (known) {
      result = [255, 255, 255];  // the canvas under it all
      for (const layer of layers.reverse()) result = over(layer, result);
    }
    backgroundCache.set(element, result);
    return result;
  };
  const luminance = rgb => {
    const [r, g, b] = rgb.map(channel => {
      const c = channel / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (one, two) => {
    const [light, dark] = [luminance(one), luminance(two)].sort((a, b) => b - a);
    return (light + 0.05) / (dark + 0.05);
  };
  const hex = rgb => `#${rgb.map(c => Math.round(c).toString(16).padStart(2, '0')).join('')}`;

  // The visible text of a control, as [element holding it, its text].
  const piecesOf = control => {
    if (control.localName === 'input') return [[control, nameOf(control)]];
    const pieces = [];
    const visit = node => {
      if (node.nodeType === Node.TEXT_NODE) {
        const parent = parentOf(node);
        if (node.data.trim() && parent && shown(parent)) pieces.push([parent, node.data]);
        return;
      }
      if (node.nodeType !== Node.ELEMENT_NODE || SILENT.has(node.localName)) return;
      if (style(node).display === 'none') return;
      childrenOf(node).forEach(visit);
    };
    visit(control);
    return pieces;
  };

  if (check === 'controls') {
    const problems = [];
    for (const control of everything()) {
      if (!control.matches(CONTROLS) || !shown(control)) continue;
      if (control.matches(':disabled, [aria-disabled=true], .disabled')) continue;
      const name = squeeze(nameOf(control));
      if (!name) {
        problems.push({kind: 'no text', selector: describe(control), text: ''});
        continue;
      }
      const seen = new Set();
      for (const [element, text] of piecesOf(control)) {
        if (seen.has(element)) continue;
        seen.add(element);
        const background = backgroundOf(element);
        if (!background) continue;
        const own = style(element);
        const foreground = over(parse(own.color), background);
        const size = parseFloat(own.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(own.fontWeight) >= 700);
        const needed = large ? 3 : 4.5;
        const contrast = ratio(foreground, background);
        if (contrast < needed) {
          problems.push({
            kind: 'contrast',
            selector: describe(control),
            text: excerpt(name || text),
            ratio: Math.floor(contrast * 100) / 100,
            needed: needed,
            colour: hex(foreground),
            background: hex(background),
          });
        }
      }
    }
    return problems;
  }

  if (check === 'overflow') {
    const width = window.innerWidth;
    const pageWidth = document.documentElement.scrollWidth;
    if (pageWidth <= width + 1) return null;
    // Every box that ends past the window's right edge, with the outermost box sticking out
    // around it. What is inside an element that scrolls or clips sideways is that element's.
    let widest = null;  // {element, right, outermost, text}
    const range = document.createRange();
    // Inside an element that scrolls or clips sideways (a `clipper`), only what escapes it
    // counts: an absolutely positioned box whose containing block is outside it (a
    // .visually-hidden span in a .table-responsive that is not positioned).
    const escapes = (element, own, clipper) => {
      if (own.position !== 'absolute') return false;
      const block = element.offsetParent;
      return !block || (block !== clipper && !clipper.contains(block));
    };
    const visit = (node, outermost, clipper) => {
      if (node.nodeType === Node.TEXT_NODE) {
        if (clipper || !node.data.trim()) return;
        range.selectNodeContents(node);
        const right = range.getBoundingClientRect().right + scrollX;
        if (right > width + 1 && (!widest || right >= widest.right)) {
          const parent = parentOf(node);
          widest = {element: parent, right, outermost: outermost || parent, text: node.data};
        }
        return;
      }
      if (node.nodeType !== Node.ELEMENT_NODE || SILENT.has(node.localName)) return;
      const own = style(node);
      if (own.display === 'none' || own.position === 'fixed') return;
      if (clipper && escapes(node, own, clipper)) clipper = null;
      let sticksOut = outermost;
      if (own.display !== 'contents') {
        const rect = node.getBoundingClientRect();
        const right = rect.right + scrollX;
        if (!clipper && rect.width > 0 && right > width + 1) {
          sticksOut = outermost || node;
          if (!widest || right >= widest.right) {
            widest = {element: node, right, outermost: sticksOut, text: ''};
          }
        }
        if (!clipper && own.overflowX !== 'visible' && node !== document.body &&
            node !== document.documentElement) clipper = node;
      }
      childrenOf(node).forEach(child => visit(child, sticksOut, clipper));
    };
    visit(document.body, null, null);
    if (!widest) return {pageWidth, width, widest: null, outermost: null, right: pageWidth};
    const text = widest.text || widest.element.textContent;
    return {
      pageWidth,
      width,
      widest: describe(widest.element) + (text.trim() ? ` (text “${excerpt(text)}”)` : ''),
      outermost: describe(widest.outermost),
      right: Math.round(widest.right),
    };
  }

  throw new Error(`page_checks.js: no check named ${check}`);
}
