"""Dictated letters: the text model, its crash-proof journal, the address book, saving and sending."""
