"""Admin search that finds a voucher code however it was typed."""

from couponsite.codes import normalize_code


class CodeSearchMixin:
    """Admin search that finds a voucher code however it was typed (case, dashes,
    look-alikes), on top of the usual ``search_fields``."""

    code_lookup = "code"

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        canonical = normalize_code(search_term)
        if canonical:
            found |= queryset.filter(**{self.code_lookup: canonical})
        return found, may_have_duplicates
