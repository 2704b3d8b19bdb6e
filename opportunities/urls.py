from opportunities import kanban_urls

app_name = "opportunities"

urlpatterns: list = []
# The pipeline board's routes live beside the board.
urlpatterns += kanban_urls.urlpatterns
