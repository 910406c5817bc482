"""The portal API server: FastAPI app, SQL models, business rules, mail, CLI.

Entry points for the rest of the application:
`app.create_app`, `embedded.EmbeddedServer`, `bootstrap.create_reseller`, `demo.seed_demo`,
`settings.ServerSettings`.
"""
