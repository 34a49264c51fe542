"""Browser helpers shared by the journeys in tests/e2e (Playwright pages)."""

from playwright.sync_api import Locator, expect

# The id of the control that has focus, inside a GC Design System component too: the component
# (document.activeElement) keeps its control, which carries the field's id, in its shadow tree.
FOCUSED_ID = """() => {
    let element = document.activeElement;
    while (element && element.shadowRoot && element.shadowRoot.activeElement) {
        element = element.shadowRoot.activeElement;
    }
    return element ? element.id : null;
}"""

# Whether the element has focus, inside a GC Design System component too (Locator.evaluate).
HAS_FOCUS = """element => {
    let focused = document.activeElement;
    while (focused && focused.shadowRoot && focused.shadowRoot.activeElement) {
        focused = focused.shadowRoot.activeElement;
    }
    return element === focused;
}"""


def tick(box: Locator, checked: bool = True) -> None:
    """Tick (or untick) a checkbox or radio button as a person does: a click on its label. A GC
    Design System component draws its box over the native one, which takes no click itself."""
    if box.is_checked() != checked:
        box_id = box.get_attribute("id")
        box.page.locator(f"label[for='{box_id}']").click()
    if checked:
        expect(box).to_be_checked()
    else:
        expect(box).not_to_be_checked()


def sign_in(page, base_url: str, email: str, password: str, language: str = "en") -> None:
    page.goto(f"{base_url}/{language}/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("form.allauth-form button[type=submit]").click()
    page.wait_for_url(f"**/{language}/dashboard/")


def fill_supplier_profile(page, **labelled_values: str) -> None:
    """Fill the supplier profile form by visible label (English), then save it."""
    for label, value in labelled_values.items():
        field = page.get_by_label(label.replace("_", " ").capitalize())
        if label == "province_or_territory":
            field.select_option(value)
        else:
            field.fill(value)
    page.get_by_role("button", name="Save profile").click()
