"""Stage types register themselves in ``STAGES`` when their module is imported (``pipeline.assembly``
imports them all)."""
