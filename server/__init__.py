"""Infrastructure every part shares: app factory, stores, auth, errors, i18n, realtime."""
