import ChorusCRDT
import ChorusClocks

/// The dumb reference for `ReplicatedText`: one array element per item, and
/// the YjsMod integration written exactly as Gentle's reference-crdts states
/// it (a linear scan with `findItem` by identifier), item by item. Slow and
/// obviously correct; the fast implementation must order every history the
/// same way.
struct ReferenceText {
    struct Item {
        var id: TextItemID
        var originLeft: TextItemID?
        var originRight: TextItemID?
        var isDeleted: Bool
        var scalar: UInt32
    }

    var items: [Item] = []
    var known: [ReplicaID: UInt32] = [:]

    var text: [UInt32] { items.filter { !$0.isDeleted }.map(\.scalar) }

    func position(of id: TextItemID?, ifNone: Int) -> Int {
        guard let id else { return ifNone }
        guard let index = items.firstIndex(where: { $0.id == id }) else {
            fatalError("reference: item \(id) not found")
        }
        return index
    }

    mutating func integrate(_ item: Item) {
        let expected = known[item.id.replica] ?? 0
        precondition(item.id.sequence == expected, "reference: operations out of order")
        known[item.id.replica] = expected + 1
        let left = position(of: item.originLeft, ifNone: -1)
        let right = position(of: item.originRight, ifNone: items.count)
        var destination = left + 1
        var scanning = false
        var index = destination
        while true {
            if !scanning { destination = index }
            if index == items.count || index == right { break }
            let other = items[index]
            let otherLeft = position(of: other.originLeft, ifNone: -1)
            let otherRight = position(of: other.originRight, ifNone: items.count)
            if otherLeft < left {
                break
            } else if otherLeft == left {
                if otherRight < right {
                    scanning = true
                } else if otherRight == right {
                    if item.id.replica < other.id.replica { break }
                    scanning = false
                } else {
                    scanning = false
                }
            }
            index += 1
        }
        items.insert(item, at: destination)
    }

    /// Applies a recorded delta (insertions expanded item by item, then deletions).
    mutating func apply(_ delta: TextDelta) {
        var contentOffset = 0
        for insertion in delta.insertions {
            for offset in 0..<insertion.length {
                let id = TextItemID(replica: insertion.replica, sequence: insertion.sequence + offset)
                let left = offset == 0 ? insertion.originLeft : TextItemID(replica: insertion.replica, sequence: id.sequence - 1)
                let scalar = insertion.isDeleted ? 0 : delta.content[contentOffset + Int(offset)]
                integrate(Item(id: id, originLeft: left, originRight: insertion.originRight, isDeleted: insertion.isDeleted, scalar: scalar))
            }
            if !insertion.isDeleted { contentOffset += Int(insertion.length) }
        }
        for deletion in delta.deletions {
            for offset in 0..<deletion.count {
                let id = TextItemID(replica: deletion.replica, sequence: deletion.sequence + offset)
                items[position(of: id, ifNone: -1)].isDeleted = true
            }
        }
    }
}
