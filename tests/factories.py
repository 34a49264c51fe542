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
