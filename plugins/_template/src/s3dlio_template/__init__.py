"""s3dlio-template: the ``tmpl://`` backend, the smallest complete s3dlio plugin (to copy)."""

__version__ = "0.1.0"
