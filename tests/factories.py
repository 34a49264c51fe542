import factory
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password

from marketplace.models import Role, RoleGrant, SupplierProfile, User

PASSWORD = "correct-horse-battery-staple"
# Hashing with the real hasher in every factory call makes the suite slow; hash once.
PASSWORD_HASH = make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = PASSWORD_HASH

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(
                user=self, email=self.email, primary=True, verified=extracted is not False
            )

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for role in extracted:
                RoleGrant.objects.create(user=self, role=role)


class SupplierFactory(UserFactory):
    email = factory.Sequence(lambda n: f"supplier{n}@example.com")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create:
            for role in [Role.SUPPLIER] if extracted is None else extracted:
                RoleGrant.objects.create(user=self, role=role)


class StaffFactory(UserFactory):
    email = factory.Sequence(lambda n: f"staff{n}@esdc-edsc.gc.ca")


class SupplierProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierProfile

    user = factory.SubFactory(SupplierFactory)
    kind = SupplierProfile.Kind.ORGANIZATION
    legal_name = "Acme Digital Inc."
    contact_name = "Sam Smith"
    email = factory.SelfAttribute("user.email")
    phone = "613-555-0100"
    province = "ON"
    postal_code = "K1A 0B1"


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "opportunities.Skill"
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"skill-{n}")
    name_en = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())
    name_fr = factory.LazyAttribute(lambda o: f"{o.name_en} (fr)")


def _in_business_days(days: int):
    from django.utils import timezone

    from marketplace.calendar import add_business_days

    return add_business_days(timezone.now(), days)


class OpportunityFactory(factory.django.DjangoModelFactory):
    """A draft that passes the publication gate as it stands."""

    class Meta:
        model = "opportunities.Opportunity"
        skip_postgeneration_save = True

    buyer = factory.SubFactory(StaffFactory, roles=[Role.BUYER])
    title_en = factory.Sequence(lambda n: f"Fix the date picker bug number {n}")
    title_fr = factory.Sequence(lambda n: f"Corriger le bogue du sélecteur de date numéro {n}")
    summary_en = "Fix a keyboard bug in an open-source date picker."
    summary_fr = "Corriger un bogue de clavier dans un sélecteur de date libre."
    description_en = "The date picker cannot be used with a keyboard."
    description_fr = "Le sélecteur de date ne peut pas être utilisé au clavier."
    deliverables_en = "A merged pull request."
    deliverables_fr = "Une demande de tirage fusionnée."
    acceptance_criteria_en = "Works with the keyboard alone."
    acceptance_criteria_fr = "Fonctionne au clavier seulement."
    value_cents = 200_000
    closes_at = factory.LazyFunction(lambda: _in_business_days(8))
    question_deadline = factory.LazyFunction(lambda: _in_business_days(6))
    attest_standalone = True
    attest_no_internal_capacity = True
    attest_not_split = True

    @factory.post_generation
    def criteria(self, create, extracted, **kwargs):
        if not create:
            return
        from opportunities.models import Criterion

        if extracted is None:
            extracted = [
                Criterion(kind="mandatory", text_en="Has used ARIA.", text_fr="A utilisé ARIA."),
                Criterion(
                    kind="rated",
                    text_en="Describe a similar fix.",
                    text_fr="Décrivez une correction semblable.",
                    weight=1,
                    max_score=10,
                ),
            ]
        for position, criterion in enumerate(extracted):
            criterion.opportunity = self
            criterion.position = position
            criterion.save()

    @factory.post_generation
    def skills(self, create, extracted, **kwargs):
        if create and extracted:
            self.skills.set(extracted)


class BidFactory(factory.django.DjangoModelFactory):
    """A bid row as it may already sit in the database, built around the services: for data
    that breaks a rule the services now enforce (a staff account's bid, the buyer's own)."""

    class Meta:
        model = "bids.Bid"

    opportunity = factory.SubFactory(OpportunityFactory)
    supplier = factory.SubFactory(SupplierFactory)
    status = "draft"
