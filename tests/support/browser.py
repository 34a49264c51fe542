"""Browser helpers shared by the journeys in tests/e2e (Playwright pages)."""


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
