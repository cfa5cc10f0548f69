from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wp_home.views import serve_without_personalisation

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    # the plain page, served by the same server without wagtail-personalisation's hooks
    path("plain/", serve_without_personalisation, {"path": "plain/"}),
    path("", include(wagtail_urls)),
]
