"""Staff sign-in: django-allauth with a second factor, and single sign-on per agency."""
