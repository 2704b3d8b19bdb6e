from django.urls import path

from opportunities import kanban

urlpatterns: list = [
    path("pipeline/", kanban.board, name="kanban"),
    path("pipeline/column/<slug:stage>/", kanban.column, name="kanban-column"),
    path("pipeline/<int:pk>/move/", kanban.move, name="kanban-move"),
    path("pipeline/<int:pk>/card/", kanban.card_edit, name="kanban-edit"),
]
