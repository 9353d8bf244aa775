# -*- coding: utf-8 -*-
"""Write the pickle fixtures of test/pickle.test.ts into test/fixtures/pickle/.

Run with Python 3 for the refs-py3-p{0,2,4,5}.pickle fixtures, the extras and the malicious ones, and with
Python 2.7 (as RefCOCO's refs(unc).p was written) for refs-py2-p{0,2}.pickle:

    python3 scripts/make-pickle-fixtures.py
    python2.7 scripts/make-pickle-fixtures.py     # e.g. PYENV_VERSION=2.7.18 python2

Every refs-* fixture holds the same value, a RefCOCO-like list of refs (see refs() below); the test expects the
same JS value from each. Nothing here is needed to run the tests: the files are committed.
"""
from __future__ import print_function

import os
import pickle
import pickletools
import sys

PY2 = sys.version_info[0] == 2
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'pickle')


def refs():
    # Python 2 refs hold str (bytes) for most text and unicode for some; on Python 3 everything is str.
    # 'caf\xe9' as a Python 2 str is Latin-1 bytes, not UTF-8: the reader falls back to Latin-1 for it.
    latin1 = b'caf\xe9' if PY2 else u'caf\xe9'
    return [
        {
            'image_id': 1,
            'split': 'train',
            'sentences': [
                {'tokens': ['the', 'man'], 'raw': 'The man', 'sent_id': 0, 'sent': 'the man'},
                {'tokens': ['the', 'caf\xc3\xa9' if PY2 else u'caf\xe9'], 'raw': u'The caf\xe9 \u2014 \U0001F600',
                 'sent_id': 1, 'sent': latin1},
            ],
            'file_name': 'COCO_train2014_000000000001_1.jpg',
            'category_id': 1,
            'ann_id': 10,
            'sent_ids': [0, 1],
            'ref_id': 0,
        },
        {
            'image_id': 581857,
            'split': 'testA',
            'sentences': [],
            'file_name': 'COCO_train2014_000000581857_900100259962.jpg',
            'category_id': 90,
            'ann_id': 900100259962,  # a COCO crowd annotation id: beyond 32 bits
            'sent_ids': [],
            'ref_id': 50000,
            'area': 1234.5,
            'score': -0.125,
            'huge': 12345678901234567890123,  # beyond 2**53: a bigint in JS
            'negative': -7,
            'note': None,
            'flags': (True, False),
            'pair': (1, 'two'),
            'single': ('one',),
            'triple': (1, 2.5, None),
            'empty': (),
            'nested': {'1': [[], {}]},
        },
    ]


class Evil(object):
    """What a hostile refs file carries: unpickling it in Python would run a shell command."""

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def write(name, data):
    path = os.path.join(OUT, name)
    with open(path, 'wb') as f:
        f.write(data)
    pickletools.dis(data, out=open(os.devnull, 'w'))  # fails loudly on a malformed stream
    print('%-24s %5d bytes' % (name, len(data)))


def main():
    if not os.path.isdir(OUT):
        os.makedirs(OUT)
    tag = 'py2' if PY2 else 'py3'
    for protocol in ([0, 2] if PY2 else [0, 2, 4, 5]):
        data = pickle.dumps(refs(), protocol)
        assert pickle.loads(data) == refs()
        write('refs-%s-p%d.pickle' % (tag, protocol), data)
    if PY2:
        return
    # Values only protocols 3+ can hold as plain data: bytes, bytearray (BYTEARRAY8 at 5), set, frozenset.
    extras = {'bytes': b'\x00\xffab', 'bytearray': bytearray(b'xy'), 'set': {3}, 'frozenset': frozenset(['a'])}
    write('extras-py3-p5.pickle', pickle.dumps(extras, 5))
    # The malicious ones: a bare payload (GLOBAL at byte 2, right after PROTO 2), one inside a ref (STACK_GLOBAL
    # at protocol 4), and a text-protocol one. They are written, never loaded.
    write('evil-py3-p2.pickle', pickle.dumps(Evil(), 2))
    write('evil-py3-p4.pickle', pickle.dumps([refs()[0], {'ref_id': 1, 'raw': Evil()}], 4))
    write('evil-py3-p0.pickle', pickle.dumps([Evil()], 0))


if __name__ == '__main__':
    main()
