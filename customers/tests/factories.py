import factory

from customers.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        django_get_or_create = ["phone"]

    # 555-01xx and the rest of 555-xxxx in area 415 are fictional yet valid numbers.
    phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    name = factory.Faker("name")
