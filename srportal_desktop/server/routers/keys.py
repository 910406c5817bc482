"""`/v1/signing-key`: the public half of the key that signs license key files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from srportal_desktop.api import schema
from srportal_desktop.server.signing import Signer

router = APIRouter(prefix="/v1", tags=["keys"])


def get_signer(request: Request) -> Signer:
    signer = request.app.state.signer
    assert isinstance(signer, Signer)
    return signer


SignerDep = Annotated[Signer, Depends(get_signer)]


@router.get("/signing-key")
def signing_key(signer: SignerDep) -> schema.SigningKey:
    """Public, so anyone can verify a key file offline: Ed25519, raw key in standard base64."""
    return signer.public()
