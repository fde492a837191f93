// The system zlib (Debian: zlib1g-dev), used only to inflate gzip'd editing
// traces in ChorusTraces. See ChorusTraces/GzipReader.swift for why we link
// it rather than writing an inflater.
#include <zlib.h>
