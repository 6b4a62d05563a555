"""magenta-stylize-web: the page (app.py, Gradio) and the work behind it (service.py)."""
