"""The dashboard at /app/: static HTML, CSS and JavaScript modules that use the public REST API."""
