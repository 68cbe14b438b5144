"""Hotline: configuration, data, services and the composition root of the contact centre."""
