from django.apps import AppConfig


class DrawsConfig(AppConfig):
    name = "draws"

    def ready(self) -> None:
        from campaigns import figures
        from draws.figures import campaign_figures

        figures.provide(campaign_figures)
