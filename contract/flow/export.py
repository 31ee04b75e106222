"""Each customer who took part reads everything kept about them: the generated
client reads the whole document (every part's model), which must be theirs."""

from couponsite_client.api.auth import me_export_retrieve
from couponsite_client.models import CustomerExport

from contract.flow import Flow
from contract.flow.signin import CUSTOMERS


def run(flow: Flow) -> None:
    h = flow.h
    for name, client in flow.customers.items():
        export = h.call(
            f"export: {name} reads what is kept about them",
            lambda client=client: me_export_retrieve.sync_detailed(client=client),
            expect=200,
            want=CustomerExport,
        )
        if export is None:
            continue
        h.same(
            f"export: {name} reads what is kept about them",
            "export.profile.phone",
            export.profile.phone,
            CUSTOMERS.get(name, export.profile.phone),
        )
        h.same(
            f"export: {name} reads what is kept about them",
            "every sign-in is there",
            len(export.sign_ins) >= 1,
            True,
        )
