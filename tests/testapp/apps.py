from django.apps import AppConfig


class TestAppConfig(AppConfig):
    """A host site's app, as the tests see one: it adds a condition type through Tailor's hook."""

    name = "tests.testapp"
    label = "tailor_testapp"
