"""Small Sphinx fixes for the course site (loaded through _config.yml's local_extensions)."""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    # sphinx-thebe (bundled by Jupyter Book 1) registers its inline config script twice,
    # which throws "Identifier 'THEBE_JS_URL' has already been declared" in every page.
    seen, kept = set(), []
    for js in context.get("script_files", []):
        key = (str(getattr(js, "filename", js) or ""), tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def _theme_mode(app, pagename, templatename, context, doctree):
    # pydata-sphinx-theme reads default_mode from the page context; left empty, it logs
    # "Got invalid theme mode" as an error on a first visit
    context["default_mode"] = context.get("default_mode") or "light"


def setup(app):
    app.connect("html-page-context", _theme_mode)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

