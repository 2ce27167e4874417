"""Bring your own key: accounts' own provider keys, stored sealed, listed masked, deleted."""
