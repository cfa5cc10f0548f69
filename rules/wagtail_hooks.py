from wagtail import hooks

from rules.views import SegmentViewSet


@hooks.register("register_admin_viewset")
def register_segment_viewset():
    return SegmentViewSet()
