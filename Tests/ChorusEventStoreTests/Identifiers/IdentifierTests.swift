import ChorusCore
import Testing

@testable import ChorusEventStore

@Suite struct IdentifierTests {
    @Test func eventIDTextForm() throws {
        let text = "0f8fad5b-d9cb-469f-a165-70867728950e"
        let id = try #require(EventID(parsing: text))
        #expect(id.description == text)
        #expect(id.bytes == [0x0F, 0x8F, 0xAD, 0x5B, 0xD9, 0xCB, 0x46, 0x9F, 0xA1, 0x65, 0x70, 0x86, 0x77, 0x28, 0x95, 0x0E])
        #expect(EventID(bytes: id.bytes) == id)
        #expect(EventID(parsing: text.uppercased()) == id)
        #expect(EventID(high: 0, low: 0).description == "00000000-0000-0000-0000-000000000000")
        #expect(EventID(high: .max, low: .max).description == "ffffffff-ffff-ffff-ffff-ffffffffffff")
        for bad in [
            "", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950e0", "0f8fad5bd9cb-469f-a165-70867728950e-",
            "0f8fad5b-d9cb-469f-a165_70867728950e", "0g8fad5b-d9cb-469f-a165-70867728950e", "{0f8fad5b-d9cb-469f-a165-70867728950}",
            "0f8fad5b-d9cb-469f-a165-7086772895é",
        ] {
            #expect(EventID(parsing: bad) == nil, "\(bad)")
        }
        #expect(EventID(bytes: [1, 2, 3]) == nil)
        var random = SeededGenerator(seed: 4)
        for _ in 0..<100 {
            let id = EventID.random(using: &random)
            #expect(EventID(parsing: id.description) == id)
            #expect(id.bytes[6] >> 4 == 4 && id.bytes[8] >> 6 == 2, "version 4, RFC variant")
        }
    }

    @Test func streamNamesAreBytes() {
        let precomposed = StreamName("\u{E9}")
        let decomposed = StreamName("e\u{301}")
        #expect(precomposed.text == decomposed.text, "Swift calls them equal")
        #expect(precomposed != decomposed)
        #expect(Set([precomposed, decomposed]).count == 2)
        #expect(StreamName("a") < StreamName("b"))
        #expect(StreamName("$kv-default").isSystem && !StreamName("kv").isSystem)
        #expect(StreamName("orders-1").validate(limits: smallLimits) == nil)
        #expect(StreamName("$x").validate(limits: smallLimits) == .reservedForSystemStreams)
        #expect(StreamName(String(repeating: "é", count: 33)).validate(limits: smallLimits) == .tooLong(bytes: 66, limit: 64))
    }

    @Test func contentTypes() {
        #expect(ContentType(mediaType: "application/json") == .json)
        #expect(ContentType(mediaType: "Application/JSON; charset=utf-8") == .json)
        #expect(ContentType(mediaType: " application/octet-stream ") == .octetStream)
        #expect(ContentType(mediaType: "text/plain") == nil)
        #expect(ContentType.allCases.map(\.mediaType) == ["application/json", "application/octet-stream"])
    }

    @Test func limitsRelate() {
        #expect(EventStoreLimits.default.problems == [])
        #expect(smallLimits.problems == [])
        #expect(PersistentGroupSettings().problem(limits: .default) == nil, "the default settings fit the default limits")
        var broken = EventStoreLimits.default
        broken.maximumEventBytes = broken.maximumAppendBytes + 1
        #expect(broken.problems == ["maximumEventBytes must not exceed maximumAppendBytes: one event is an append"])
        broken = .default
        broken.idempotencyWindowMaxEvents = broken.maximumEventsPerAppend - 1
        #expect(broken.problems == ["idempotencyWindowMaxEvents must hold the largest batch, or a retry of it could never be recognised"])
        broken = .default
        broken.maximumCommandBytes = broken.maximumAppendBytes
        #expect(broken.problems.count == 1 && broken.problems[0].hasPrefix("maximumCommandBytes"))
        broken = .default
        broken.maximumRetainedEvents = Int(UInt32.max) + 1
        #expect(broken.problems == ["maximumRetainedEvents must fit the 32-bit event slots"])
        broken = .default
        broken.maximumScannedEventsPerRead = broken.maximumReadCount - 1
        #expect(broken.problems == ["a filtered read must be able to scan at least one full page"])
        broken = .default
        broken.maximumSystemStreamNameBytes = broken.maximumStreamNameBytes
        #expect(broken.problems.contains { $0.hasPrefix("maximumSystemStreamNameBytes must hold a parked stream's name") })
        broken = .default
        broken.maximumReadCount = 0
        #expect(broken.problems == ["maximumReadCount must be positive (is 0)"])
    }

    @Test func newtypesOrder() {
        #expect(StreamRevision(1) < StreamRevision(2))
        #expect(GlobalPosition(3).description == "p3")
        #expect(RecordedTime(microsecondsSinceEpoch: .min + 1).subtracting(Microseconds(10)) == RecordedTime(rawValue: .min))
        #expect(SubscriptionCursor.start < .after(0))
        #expect(SubscriptionCursor.after(GlobalPosition(.max)).nextPosition == GlobalPosition(.max))
    }
}
