"""The HTTP adapter: app factory, settings wiring, lifespan, routes and middleware."""
