import ChorusCore
import Testing

@Suite struct JSONStringTests {
    @Test func escapesQuotesBackslashesAndControlCharacters() {
        #expect(JSONString.quoted("plain") == "\"plain\"")
        #expect(JSONString.quoted("say \"hi\"\\") == "\"say \\\"hi\\\"\\\\\"")
        #expect(JSONString.quoted("a\nb\tc\rd") == "\"a\\nb\\tc\\rd\"")
        #expect(JSONString.quoted("\u{1}\u{1F}") == "\"\\u0001\\u001f\"")
    }

    @Test func leavesNonASCIIAsIs() {
        #expect(JSONString.quoted("héllo 🌍") == "\"héllo 🌍\"")
    }
}
