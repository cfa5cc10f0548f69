from wagtail import hooks


@hooks.register("register_schema_query")
def register_tailor_queries(query_mixins):
    from variants.schema import Query

    query_mixins.append(Query)
