"""The web application: :func:`api.app.create_app` assembles one router per surface (SPARQL endpoint, query page,
linked data, REST lookup). It reads the store; it never writes to it."""
