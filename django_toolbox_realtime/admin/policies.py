"""Admin for channel policies, the check-access page and the revoke action."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from ..authorization.patterns import compile_pattern
from ..authorization.policies import decide
from ..authorization.policy_rules import UNBOUND_USER_HINT, policy_problems, unbound_user_problem
from ..authorization.presence import check_user_info, user_id_for, user_info_for
from ..authorization.roles import hierarchy, role_source, user_role
from ..delivery.revocation import revoke_user
from ..exceptions import RealtimeError
from ..models import ChannelPolicy
from ..validation import SIGNED_KINDS
from .live import ChannelKindFilter

# --- revoke (usable on any user admin) ------------------------------------------------


@admin.action(description=_("Terminate live realtime connections"), permissions=["change"])
def revoke_connections(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> None:
    """Admin action for the user admin: ``actions = [revoke_connections]``."""
    done = failed = 0
    for user in queryset:
        try:
            revoke_user(user)
            done += 1
        except RealtimeError as exc:
            failed += 1
            modeladmin.message_user(
                request,
                _("User %(user)s: %(error)s") % {"user": user, "error": exc},
                messages.ERROR,
            )
    if done:
        modeladmin.message_user(
            request,
            _("Terminated the connections of %(n)d user(s).") % {"n": done},
            messages.SUCCESS,
        )


# --- policies ------------------------------------------------------------------------

# Here rather than on the model field, so that changing it needs no migration.
CHANNEL_HELP = _(
    "An exact channel name such as private-teacher, or a pattern such as "
    "presence-classroom-{id}. Must start with private-, private-encrypted- or "
    "presence-: public channels cannot be protected. A placeholder matches one or "
    "more of A-Z a-z 0-9 _ = @ , ; (never - or .). The reserved placeholder {user} "
    "matches only the user whose id it is: private-user-{user} lets every user "
    "subscribe to their own channel only (07 or any other spelling of 7 is refused). "
    "Any other placeholder, even {user_id}, matches any value."
)


class ChannelPolicyForm(forms.ModelForm):
    min_role = forms.ChoiceField(label=_("minimum role"), choices=())

    class Meta:
        model = ChannelPolicy
        fields = ["channel", "description", "min_role", "allowed_groups", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roles = hierarchy()
        choices = [
            (name, f"{name} (level {level})")
            for name, level in sorted(roles.items(), key=lambda item: item[1])
        ]
        current = self.initial.get("min_role")
        if current and current not in roles:  # keep an orphan visible, not silently changed
            choices.insert(0, (current, _("%(role)s (not in ROLE_HIERARCHY)") % {"role": current}))
        field = self.fields["min_role"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        field.help_text = " ".join(
            [str(_("Users with this role or a higher one may subscribe.")), role_source()]
        )
        self.fields["channel"].help_text = CHANNEL_HELP

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or self.cleaned_data
        channel, min_role = cleaned.get("channel"), cleaned.get("min_role")
        if channel is None or min_role is None:
            return cleaned  # a required field is missing: reported by the field
        for problem in policy_problems(channel, min_role, hierarchy()):
            self.add_error(problem.field, problem.message)
        return cleaned


@admin.register(ChannelPolicy)
class ChannelPolicyAdmin(admin.ModelAdmin):
    form = ChannelPolicyForm
    list_display = (
        "channel",
        "kind",
        "min_role",
        "groups",
        "is_active",
        "description",
        "updated_at",
    )
    list_filter = ("is_active", ChannelKindFilter, "min_role", "allowed_groups")
    search_fields = ("channel", "description")
    filter_horizontal = ("allowed_groups",)
    readonly_fields = ("created_at", "updated_at")
    actions = ["activate", "deactivate"]
    change_list_template = "django_toolbox_realtime/admin/policy_change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).prefetch_related("allowed_groups")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        try:
            problem = unbound_user_problem(compile_pattern(obj.channel))
        except RealtimeError:  # the form refused it already; nothing to add
            problem = None
        if problem is not None:  # allowed (a teacher-only rule may mean it), but say so
            self.message_user(request, f"{problem.message} {UNBOUND_USER_HINT}", messages.WARNING)

    @admin.display(description=_("kind"))
    def kind(self, obj: ChannelPolicy) -> str:
        try:
            pattern = compile_pattern(obj.channel)
        except RealtimeError:
            return str(_("invalid"))
        if pattern.kind not in SIGNED_KINDS:
            return str(_("public: NOT enforceable"))
        return f"{pattern.kind} ({_('exact') if pattern.is_exact else _('pattern')})"

    @admin.display(description=_("groups"))
    def groups(self, obj: ChannelPolicy) -> str:
        return ", ".join(g.name for g in obj.allowed_groups.all()) or "—"

    @admin.action(description=_("Activate selected policies"), permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = queryset.update(is_active=True)  # bumps the authorization version
        self.message_user(request, _("%(n)d policies activated.") % {"n": count})

    @admin.action(description=_("Deactivate selected policies"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        count = queryset.update(is_active=False)  # bumps the authorization version
        self.message_user(
            request,
            _(
                "%(n)d policies deactivated. Sockets already subscribed "
                "stay until their users' connections are terminated."
            )
            % {"n": count},
            messages.WARNING,
        )

    def get_urls(self) -> list[Any]:
        opts = self.model._meta
        return [
            path(
                "check-access/",
                self.admin_site.admin_view(self.check_access_view),
                name=f"{opts.app_label}_{opts.model_name}_check_access",
            ),
            *super().get_urls(),
        ]

    def check_access_view(self, request: HttpRequest) -> HttpResponse:
        """Pick a user, type a channel: allowed or not, and why."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = CheckAccessForm(request.POST or request.GET or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Check channel access"),
            "form": form,
            "can_revoke": _can_revoke(request),
        }
        if form.is_valid():
            user = form.cleaned_data["user"]
            if request.method == "POST" and "revoke" in request.POST:
                return self._revoke(request, user, form.cleaned_data["channel"])
            decision = decide(user, form.cleaned_data["channel"])
            context.update(
                checked_user=user,
                decision=decision,
                user_role=user_role(user),
                role_source=role_source(),
            )
            if decision.policy is not None:
                context["policy_url"] = reverse(
                    f"{self.admin_site.name}:{self.model._meta.app_label}_"
                    f"{self.model._meta.model_name}_change",
                    args=[decision.policy.id],
                )
            if decision.allowed and decision.kind == "presence":
                try:
                    info = user_info_for(user, decision.user_info)
                    check_user_info(info)
                    context["presence"] = {"user_id": user_id_for(user), "user_info": info}
                except RealtimeError as exc:
                    context["presence_error"] = str(exc)
        return TemplateResponse(
            request, "django_toolbox_realtime/admin/policy_check_access.html", context
        )

    def _revoke(self, request: HttpRequest, user: Any, channel: str) -> HttpResponse:
        if not _can_revoke(request):
            raise PermissionDenied
        try:
            revoke_user(user)
            self.message_user(
                request,
                _("Terminated the connections of %(user)s.") % {"user": user},
                messages.SUCCESS,
            )
        except RealtimeError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        query = urlencode({"user": user.get_username(), "channel": channel})
        return HttpResponseRedirect(f"{request.path}?{query}")


def _can_revoke(request: HttpRequest) -> bool:
    opts = get_user_model()._meta
    return bool(request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}"))


class CheckAccessForm(forms.Form):
    user = forms.CharField(label=_("User"), help_text=_("Username (or numeric id)."))
    channel = forms.CharField(
        label=_("Channel"), max_length=200, help_text=_("e.g. presence-classroom-101")
    )

    def clean_user(self) -> Any:
        value = self.cleaned_data["user"].strip()
        model = get_user_model()
        user = model._default_manager.filter(**{model.USERNAME_FIELD: value}).first()
        if user is None and value.isascii() and value.isdigit():
            user = model._default_manager.filter(pk=value).first()
        if user is None:
            raise forms.ValidationError(_("No such user."))
        return user
