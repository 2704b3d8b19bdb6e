"""The morning load's client submits a form as a browser would (no server needed)."""

from bench.load import MORNING, FormReader


def test_form_reader_submits_the_checked_the_selected_and_the_typed_values_of_each_form():
    reader = FormReader()
    reader.feed(
        """
        <form method="post" action="/logout/"><input type="hidden" name="next" value="/"></form>
        <form method="get"><input name="q" value="ignored"></form>
        <form method="post" hx-post="/opportunities/7/inline/next_step/">
          <input type="hidden" name="csrfmiddlewaretoken" value="tok">
          <input type="hidden" name="version" value="12">
          <input type="checkbox" name="budget_ok" checked>
          <input type="checkbox" name="need_ok">
          <select name="stage"><option value="qualification">Q</option>
            <option value="proposal" selected>P</option></select>
          <select name="owner"><option value="3">first</option><option value="4">x</option></select>
          <textarea name="value">
Relancer</textarea>
          <button type="submit" name="save">Save</button>
        </form>
        """
    )
    assert reader.forms == [
        [("next", "/")],
        [
            ("csrfmiddlewaretoken", "tok"),
            ("version", "12"),
            ("budget_ok", "on"),
            ("stage", "proposal"),
            ("owner", "3"),
            ("value", "Relancer"),
        ],
    ]


def test_the_morning_mixes_reads_with_an_edit_of_a_deal():
    keys = {key for _weight, key in MORNING}
    assert {"dashboard", "kanban", "opp_list", "search", "edit"} <= keys
