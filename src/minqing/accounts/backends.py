from django.contrib.auth.backends import ModelBackend


class LockoutBackend(ModelBackend):
    """Django's backend, refusing accounts that are locked after repeated failed logins.
    Failures are counted by ``accounts.services.user_login``."""

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and not user.is_locked()
