import ArgumentParser

/// The one executable. Each area of Chorus contributes a subcommand, defined
/// in its own file beside this one.
@main
struct ChorusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus",
        abstract: "Distributed state for Swift: the whole consistency spectrum, verified.",
        version: "0.1.0",
        subcommands: [
            DemoCommand.self, NodeCommand.self, ClusterCommand.self, KeyValueCLICommand.self, EventsCLICommand.self,
            ProjectionsCLICommand.self,
            SagaCLICommand.self,
            ShopCommand.self,
            CRDTCommand.self, TokensCommand.self, CertsCommand.self,
            CheckCommand.self, SimulateCommand.self, StorageCommand.self, BenchCommand.self, LabCommand.self,
            NemesisCommand.self,
        ]
    )
}
