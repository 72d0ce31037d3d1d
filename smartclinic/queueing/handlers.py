"""Queueing's reactions to other contexts' events."""
