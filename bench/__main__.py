"""python -m bench <name> [options]: run one benchmark."""
import sys

BENCHES = {"search": "bench.search", "bidding": "bench.bidding", "certificate": "bench.certificate",
           "stats": "bench.stats", "serving": "bench.serving"}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHES:
        print(f"usage: python -m bench {{{'|'.join(BENCHES)}}} [options]", file=sys.stderr)
        sys.exit(2)
    import importlib
    name = sys.argv.pop(1)
    importlib.import_module(BENCHES[name]).main(sys.argv[1:])


main()
