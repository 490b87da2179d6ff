"""Ports Autobahn's test suite (autobahntestsuite 25.10.1, Python 2 code) to Python 3 and
today's autobahn, for its fuzzing client only: the cases, the fuzzing protocol, the reports.

Usage: python3 port.py SDIST.tar.gz DEST   (DEST/autobahntestsuite is the ported package)

Python 2 string literals are bytes; Python 3 ones are text. Each plain literal in the cases
is rewritten into text whose code points are its Python 2 bytes (latin-1), so that "µ" in a
case is still the two bytes c2 b5 and "\\xce" still the one byte ce. The fuzzing protocol
encodes such text back into those same bytes on the way out, and what is received is
decoded the same way before it is compared with what a case expects. The rest is
mechanical: lib2to3, then the edits below, each checked against the text it replaces so
that a different release of the suite fails loudly instead of running half-ported.
"""
import io
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import tokenize

SHIM = '''"""Python 2 byte strings held as latin-1 text, and the helpers the port adds."""
import binascii as _binascii

from autobahn.websocket import utf8validator as _utf8validator


def _b(value):
    return value.encode("latin-1") if isinstance(value, str) else value


def _t(value):
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value


def _norm(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_norm(v) for v in value)
    return _t(value)


def _json_default(value):
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else str(value)


_b2a_hex = _binascii.b2a_hex
_binascii.b2a_hex = lambda data: _b2a_hex(_b(data)).decode()


class _Utf8Validator(_utf8validator.Utf8Validator):
    def validate(self, data):
        return super().validate(_b(data))


_utf8validator.Utf8Validator = _Utf8Validator
'''

# The fuzzing protocol's senders take the cases' text as the bytes it stands for.
SENDERS = '''
   def sendMessage(self, payload, isBinary=False, *args, **kwargs):
      return super().sendMessage(_b(payload), isBinary, *args, **kwargs)

   def sendFrame(self, opcode, payload=b"", *args, **kwargs):
      return super().sendFrame(opcode, _b(payload), *args, **kwargs)

   def sendPing(self, payload=None):
      return super().sendPing(_b(payload))

   def sendPong(self, payload=None):
      return super().sendPong(_b(payload))

   def sendMessageFrameData(self, payload, *args, **kwargs):
      return super().sendMessageFrameData(_b(payload), *args, **kwargs)

   def sendMessageFrame(self, payload, *args, **kwargs):
      return super().sendMessageFrame(_b(payload), *args, **kwargs)

   def sendCloseFrame(self, code=None, reasonUtf8=None, isReply=False):
      return super().sendCloseFrame(code, _b(reasonUtf8), isReply)

   def sendData(self, data, *args, **kwargs):
      return super().sendData(_b(data), *args, **kwargs)
'''

FUZZING_PROTOCOL = '''class FuzzingProtocol:
   """
   Common mixin-base class for fuzzing server and client protocols.
   """
'''

DEFLATE_NAMES = ["acceptNoContextTakeover", "acceptMaxWindowBits", "requestNoContextTakeover",
                 "requestMaxWindowBits", "noContextTakeover", "windowBits", "memLevel"]


def edit(path, pairs):
    """Replaces each old text with its new one in path; each old text must be there."""
    text = path.read_text()
    for old, new in pairs:
        if old not in text:
            sys.exit(f"port.py: {path.name} no longer holds {old!r}: another release?")
        text = text.replace(old, new)
    path.write_text(text)


def python2_bytes(token):
    """A plain string literal as text whose code points are its Python 2 bytes."""
    prefix, body = re.match(r"^([A-Za-z]*)(.*)$", token, re.S).groups()
    kind = prefix.lower()
    if "u" in kind or "b" in kind or ("r" in kind and not body.isascii()):
        return token
    escaped = "".join(c if c.isascii() else "".join(f"\\x{b:02x}" for b in c.encode())
                      for c in body)
    return repr(eval(kind + "b" + escaped).decode("latin-1"))


def rewrite_literals(path):
    source = path.read_text(encoding="utf-8")
    tokens = [t._replace(string=python2_bytes(t.string)) if t.type == tokenize.STRING else t
              for t in tokenize.generate_tokens(io.StringIO(source).readline)]
    path.write_text(tokenize.untokenize(tokens), encoding="utf-8")


def port_cases(pkg):
    cases = pkg / "case"
    (pkg / "py3shim.py").write_text(SHIM)
    edit(cases / "__init__.py", [("from .case1_1_1 import", "from .. import py3shim\nfrom .case1_1_1 import")])
    edit(cases / "case.py", [
        ("import pickle", "import pickle\nfrom ..py3shim import _t, _norm"),
        ("('message', msg, binary)", "('message', _t(msg), binary)"),
        ("('ping', payload))", "('ping', _t(payload)))"),
        ("('pong', payload))", "('pong', _t(payload)))"),
        ("pickle.dumps(obj1) == pickle.dumps(obj2)", "pickle.dumps(_norm(obj1)) == pickle.dumps(_norm(obj2))"),
    ])
    # Python 3 classes all derive from object: `type(name, (object, Case), ...)` has no order.
    for path in cases.glob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\(\s*object\s*,\s*(\w+)\s*,?\s*\)", r"(\1,)", text))
    # Python 2 divided integers to an integer.
    edit(cases / "case10_1_1.py", [("len(self.payload) / self.p", "len(self.payload) // self.p")])
    # zope.interface's class advice is gone: the decorator instead.
    edit(cases / "case9_9_1.py", [
        ("from zope.interface import implements", "from zope.interface import implementer"),
        ("   implements(interfaces.IPushProducer)\n", ""),
        ("class FrameProducer", "@implementer(interfaces.IPushProducer)\nclass FrameProducer"),
    ])
    # autobahn's deflate classes now take snake_case arguments.
    path = cases / "case12_x_x.py"
    text = path.read_text()
    for name in DEFLATE_NAMES:
        snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)
        text = re.sub(rf"\b{name}\b", snake, text)
    path.write_text(text)


def port_fuzzing(pkg):
    factory = "WebSocket{}Factory.__init__(self, debug = debug, debugCodePaths = debug)"
    edit(pkg / "fuzzing.py", [
        ("import autobahntestsuite\n", "import autobahntestsuite\nfrom .py3shim import _b, _t, _json_default\n"),
        (FUZZING_PROTOCOL, FUZZING_PROTOCOL + SENDERS),
        (factory.format("Server"), "WebSocketServerFactory.__init__(self)\n      self.debug = debug"),
        (factory.format("Client"), "WebSocketClientFactory.__init__(self)\n      self.debug = debug"),
        # Wire logs hold bytes; reports are UTF-8 text.
        ('replace = False):\n   ellipses = " ..."', 'replace = False):\n   data = _b(data)\n   ellipses = b" ..."'),
        ("         p = ''.join(payload)", "         p = b''.join(payload)"),
        ('(c[0], case[c[0]], c[1])).encode("utf-8"))', "(c[0], case[c[0]], c[1])))"),
        ("ll.encode('utf8')))", "ll))"),
        ("json.dumps(", "json.dumps(default = _json_default, obj = "),
        ("open(os.path.join(outdir, report_filename), 'w')",
         "open(os.path.join(outdir, report_filename), 'w', encoding='utf-8')"),
    ])
    # Only the fuzzing client is used: the package imports nothing else.
    init = pkg / "__init__.py"
    text = init.read_text()
    init.write_text(text[:text.index("from . import choosereactor")] + "from . import choosereactor\n")


def main(sdist, dest):
    dest = pathlib.Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    with tarfile.open(sdist) as tar:
        tar.extractall(dest / "sdist", filter="data")
    pkg = dest / "autobahntestsuite"
    shutil.move(next((dest / "sdist").glob("*/autobahntestsuite")), pkg)
    shutil.rmtree(dest / "sdist")
    for path in (pkg / "case").glob("*.py"):
        rewrite_literals(path)
    subprocess.run([sys.executable, "-W", "ignore", "-m", "lib2to3", "-w", "-n", "-j", "2", str(pkg)],
                   check=True, capture_output=True)
    port_cases(pkg)
    port_fuzzing(pkg)


if __name__ == "__main__":
    main(*sys.argv[1:])
