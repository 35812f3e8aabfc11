"""Dashboards: the partnership's figures for agencies and panel chairs."""
