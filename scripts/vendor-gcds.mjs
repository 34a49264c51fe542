// Self-hosted GC Design System assets, built from the npm packages after every `npm install`
// (package.json "postinstall"; the Dockerfile's assets stage runs it too). Output:
// node_modules/.gcds-static/, served as static/vendor/gcds/ (settings.STATICFILES_DIRS).
//
//   components/  dist/gcds of @gcds-core/components (the module loader and its chunks) and
//                gcds.css, rewritten so that it loads nothing from another origin: the published
//                file imports Google Fonts and the icon font from cdn.design-system.canada.ca,
//                which the Content-Security-Policy (style-src and font-src 'self') refuses and
//                which would tell those hosts who reads the site. The fonts come from
//                @gcds-core/fonts instead; their @font-face rules are appended here.
//   fonts/       the font files of @gcds-core/fonts (woff2, woff, ttf; its template CSS is not
//                copied: its placeholder paths would break collectstatic's manifest).
//   signature/   the Government of Canada signature of gcds-signature, coloured by attributes,
//                for the header shown when the components do not run (JavaScript off).
//   css-shortcuts/ gcds-css-shortcuts.min.css of @gcds-core/css-shortcuts (the utility classes:
//                spacing, flex, grid, type, and GCDS's base styles), made self-contained the same
//                way: its Google Fonts import is dropped and its icon font comes from fonts/.
//
// Fails (exit 1) when a new version of a package no longer matches what this script expects.
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const components = join(modules, "@gcds-core", "components", "dist");
const fontsRoot = join(modules, "@gcds-core", "fonts", "fonts");
const shortcuts = join(modules, "@gcds-core", "css-shortcuts", "dist");
const out = join(modules, ".gcds-static");

function fail(message) {
  console.error(`vendor-gcds: ${message}`);
  process.exit(1);
}

rmSync(out, { recursive: true, force: true });

// Fonts: the files only.
const fontDirs = ["icons", "lato", "noto-sans", "noto-sans-mono"];
for (const dir of fontDirs) {
  mkdirSync(join(out, "fonts", dir), { recursive: true });
  for (const name of readdirSync(join(fontsRoot, dir))) {
    if (/\.(woff2?|ttf)$/.test(name) || name === "LICENSE.txt") {
      copyFileSync(join(fontsRoot, dir, name), join(out, "fonts", dir, name));
    }
  }
}

// Components: the lazy loader as published, but for one thing. When it starts, Stencil's loader
// adds an inline <style> to the page's head that hides every component until it has rendered
// ("gcds-header,…{visibility:hidden}.hydrated{visibility:inherit}"); the Content-Security-Policy
// (style-src 'self') refuses it and the browser reports the violation. Its condition is replaced
// by false: nothing is inserted, and the components show as soon as they render.
mkdirSync(join(out, "components"), { recursive: true });
const prehydrationStyle =
  /(\w+)\.length>0&&\((\w+)\.textContent\+=\1\.sort\(\)\+"\{visibility:hidden\}\.hydrated\{visibility:inherit\}",\2\.innerHTML\.length\)/g;
let patched = 0;
for (const name of readdirSync(join(components, "gcds"))) {
  if (name === "gcds.css") continue;
  let code = readFileSync(join(components, "gcds", name), "utf8");
  if (code.includes("{visibility:hidden}.hydrated{visibility:inherit}")) {
    const before = code;
    code = code.replace(prehydrationStyle, "!1");
    if (code === before) fail(`${name}: Stencil's pre-hydration style is no longer where expected`);
    patched += 1;
  }
  writeFileSync(join(out, "components", name), code);
}
if (patched !== 1) fail(`Stencil's pre-hydration style found in ${patched} files, not 1`);
let css = readFileSync(join(components, "gcds", "gcds.css"), "utf8");
const googleImport = /@import url\("https:\/\/fonts\.googleapis\.com\/[^"]*"\);/g;
if (!googleImport.test(css)) fail("gcds.css no longer imports Google Fonts: check this script");
css = css.replace(googleImport, "");
css = css.replace(/https:\/\/cdn\.design-system\.canada\.ca\/@gcds-core\/fonts@[^/]+\//g, "../fonts/");
// The @font-face rules of @gcds-core/fonts, their placeholder paths pointed at fonts/.
for (const [dir, file] of [
  ["lato", "gcds-lato.css"],
  ["noto-sans", "gcds-noto-sans.css"],
  ["noto-sans-mono", "gcds-noto-sans-mono.css"],
]) {
  const faces = readFileSync(join(fontsRoot, dir, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/url\("(?:path\/to\/file|<path-to-file>)\//g, `url("../fonts/${dir}/`);
  if (!faces.includes("@font-face")) fail(`${dir}/${file} has no @font-face`);
  css += faces.replace(/\s+/g, " ").trim();
}
// Nothing from another origin, and every font it names is copied.
function checkSelfContained(name, text) {
  const remote = text.match(/(?:url\(|@import)\s*["']?(?:https?:)?\/\/[^)"']*/);
  if (remote) fail(`${name} still loads from another origin: ${remote[0]}`);
  for (const match of text.matchAll(/url\(["']?\.\.\/fonts\/([^)"'?#]+)[^)"']*["']?\)/g)) {
    try {
      readFileSync(join(out, "fonts", match[1]));
    } catch {
      fail(`${name} refers to a font file that is not copied: ${match[1]}`);
    }
  }
}
checkSelfContained("gcds.css", css);
writeFileSync(join(out, "components", "gcds.css"), css);

// CSS shortcuts: the minified file, its Google Fonts import dropped (gcds.css brings the fonts)
// and its icon font pointed at fonts/icons/ (served side by side: vendor/gcds/css-shortcuts/ and
// vendor/gcds/fonts/).
mkdirSync(join(out, "css-shortcuts"), { recursive: true });
let utilities = readFileSync(join(shortcuts, "gcds-css-shortcuts.min.css"), "utf8");
const shortcutsImport = /@import url\(["']?https:\/\/fonts\.googleapis\.com\/[^)]*\);?/g;
if (!shortcutsImport.test(utilities)) {
  fail("gcds-css-shortcuts.min.css no longer imports Google Fonts: check this script");
}
utilities = utilities.replace(shortcutsImport, "");
utilities = utilities.replace(
  /https:\/\/cdn\.design-system\.canada\.ca\/@gcds-core\/fonts@[^/]+\//g,
  "../fonts/",
);
checkSelfContained("gcds-css-shortcuts.min.css", utilities);
writeFileSync(join(out, "css-shortcuts", "gcds-css-shortcuts.min.css"), utilities);

// Signature: the official SVG; the component colours it through CSS, an <img> needs attributes.
mkdirSync(join(out, "signature"), { recursive: true });
const signatures = join(components, "collection", "components", "gcds-signature", "assets");
for (const lang of ["en", "fr"]) {
  const svg = readFileSync(join(signatures, `sig-blk-${lang}.svg`), "utf8");
  if (!svg.includes('class="fip_flag"')) fail(`sig-blk-${lang}.svg has no fip_flag`);
  writeFileSync(
    join(out, "signature", `sig-blk-${lang}.svg`),
    svg
      .replace(/class="fip_flag"/g, 'class="fip_flag" fill="#eb2d37"')
      .replace(/class="fip_text"/g, 'class="fip_text" fill="#000"'),
  );
}
