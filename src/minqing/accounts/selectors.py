"""Reads of users, units and tokens, always starting from the reader's reach."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from minqing.accounts.models import ApiToken, OrgUnit, User
from minqing.accounts.roles import Cap
from minqing.regions.models import prefix_q


def users_in_reach(actor: User) -> QuerySet[User]:
    """Users whose own reach lies within the actor's."""
    return User.objects.filter(prefix_q("reach", actor.reach)).select_related("unit")


def get_user_for_user(actor: User, pk: int) -> tuple[User, bool]:
    """A user the actor may see, and whether the actor may change them; 404 otherwise."""
    user = users_in_reach(actor).filter(pk=pk).first()
    if user is None:
        raise Http404
    return user, actor.can(Cap.MANAGE_USERS)


def units_in_reach(actor: User) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.filter(prefix_q("region_id", actor.reach)).select_related("region")


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def get_token_for_user(actor: User, pk: int) -> tuple[ApiToken, bool]:
    """Tokens are personal: another user's token is not found, whoever asks."""
    token = tokens_of(actor).filter(pk=pk).first()
    if token is None:
        raise Http404
    return token, True


def units_with_user_counts(actor: User) -> QuerySet[OrgUnit]:
    """Units in reach, county office first, each with ``user_count`` (active users)."""
    return (
        units_in_reach(actor)
        .annotate(user_count=Count("user", filter=Q(user__is_active=True)))
        .order_by("kind", "region_id", "name")
    )
