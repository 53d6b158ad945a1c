"""The command line: ``main.py`` declares commands, ``tasks.py`` runs them."""
