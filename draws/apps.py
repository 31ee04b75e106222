from django.apps import AppConfig


class DrawsConfig(AppConfig):
    name = "draws"

    def ready(self) -> None:
        # ready() is where start-up hooks go: the models are loaded by now.
        from campaigns import figures
        from draws.figures import campaign_figures

        figures.provide(campaign_figures)
