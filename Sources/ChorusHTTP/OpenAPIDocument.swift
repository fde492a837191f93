/// The OpenAPI document served at `GET /openapi.yaml`: the bytes of
/// `Sources/ChorusHTTP/openapi.yaml`, embedded in the binary at build time, so
/// the served document is the committed file and cannot drift from it.
enum OpenAPIDocument {
    static var yaml: String { String(decoding: PackageResources.openapi_yaml, as: UTF8.self) }
}
