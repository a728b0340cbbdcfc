"""A real SMTP server for vitals' mail tests (aiosmtpd), and a reader of what it received.

    python3 smtp_sink.py serve DIR [--auth USER:PASSWORD] [--starttls CERT.pem:KEY.pem]
        Listens on a free loopback port, prints "listening PORT", and writes every message it
        accepts to DIR/NNN.eml (the bytes as received) with DIR/NNN.json (envelope sender,
        recipients, the login used and whether the session was encrypted). With --auth, AUTH
        (PLAIN or LOGIN, allowed without TLS on loopback) is required and only USER:PASSWORD is
        accepted. With --starttls, STARTTLS is offered with that certificate and required
        before any mail. Stops when its standard input closes.

    python3 smtp_sink.py parse FILE.eml
        Prints the message as JSON (Python's email package): headers, the plain-text and HTML
        parts, and the attachments, each written beside the file as FILE.eml.N.NAME.
"""

import json
import os
import socket
import sys
from email import message_from_bytes, policy


def serve(directory, auth, starttls):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            stem = os.path.join(directory, f"{Sink.count:03d}")
            login = getattr(session.auth_data, "login", None)
            meta = {
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "login": login.decode() if isinstance(login, bytes) else login,
                "tls": session.ssl is not None,
            }
            with open(stem + ".json", "w") as f:
                json.dump(meta, f)
            data = envelope.original_content or envelope.content
            with open(stem + ".tmp", "wb") as f:
                f.write(data)
            os.replace(stem + ".tmp", stem + ".eml")
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        user, _, password = auth.partition(":")
        ok = (
            auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = {}
    if auth:
        options = dict(
            authenticator=authenticator, auth_required=True, auth_require_tls=False
        )
    if starttls:
        import ssl

        cert, _, key = starttls.partition(":")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options.update(tls_context=context, require_starttls=True)
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print(f"listening {port}", flush=True)
    sys.stdin.read()
    controller.stop()


def parse(path):
    with open(path, "rb") as f:
        message = message_from_bytes(f.read(), policy=policy.default)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    attachments = []
    for i, part in enumerate(message.iter_attachments()):
        name = part.get_filename()
        out = f"{path}.{i}.{name}"
        with open(out, "wb") as f:
            f.write(part.get_payload(decode=True))
        attachments.append(
            {"filename": name, "content_type": part.get_content_type(), "path": out}
        )
    print(
        json.dumps(
            {
                "subject": message["Subject"],
                "from": message["From"],
                "to": message["To"],
                "message_id": message["Message-ID"],
                "idempotency_key": message["X-Vitals-Idempotency-Key"],
                "content_type": message.get_content_type(),
                "text": text.get_content() if text else None,
                "html": html.get_content() if html else None,
                "attachments": attachments,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        flags = dict(zip(sys.argv[3::2], sys.argv[4::2]))
        serve(sys.argv[2], flags.get("--auth"), flags.get("--starttls"))
    elif len(sys.argv) == 3 and sys.argv[1] == "parse":
        parse(sys.argv[2])
    else:
        sys.exit(__doc__)
