from wagtail import hooks


@hooks.register("register_schema_query")
def register_tailor_queries(query_mixins):
    from variants.schema import Query

    query_mixins.append(Query)


@hooks.register("insert_editor_css")
def editor_css():
    from django.templatetags.static import static
    from django.utils.html import format_html

    return format_html('<link rel="stylesheet" href="{}">', static("tailor_cms/css/editor.css"))
