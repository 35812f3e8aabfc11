"""The built-in business areas, installed as ``caseframe.areas`` (caseframe/_packages.py); each loads as a
plugin exactly as an installed package's would."""

# the old top-level name, imported from a source checkout: it is caseframe.areas now
if __name__ == "plugins":
    import caseframe._packages

    caseframe._packages.become(__name__)
