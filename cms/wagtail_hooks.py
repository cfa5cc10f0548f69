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


@hooks.register("register_schema_mutation")
def register_tailor_mutations(mutation_mixins):
    import graphene

    from rules.schema import Mutation as RulesMutation

    mutation_mixins.extend([RulesMutation])
    # grapple builds `class Mutation(*mixins)`, which must be an ObjectType: keep it the last base.
    if graphene.ObjectType in mutation_mixins:
        mutation_mixins.remove(graphene.ObjectType)
    mutation_mixins.append(graphene.ObjectType)
