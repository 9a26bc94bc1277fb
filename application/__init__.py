"""Use cases: commands (``verb_noun``) and queries (``get_*``) over the event-sourced domain."""
