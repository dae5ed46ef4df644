"""Generic stage types (``builtin``: ``delay``, ``model``). A skill's stages live in its own folder
(``pipeline/skills/<skill>/stage.py``). Every stage type registers itself in ``STAGES`` when its
module is imported, and ``pipeline.assembly`` imports them all."""
