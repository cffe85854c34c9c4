'use strict';
// graphql-schema-linter has no rule for directives: this one holds the
// schema's own directives (and their arguments) to the same standard as
// types and fields, since a frontend engineer reads them in GraphiQL's docs
// too. The linter loads it from customRulePaths and names its violations
// directives-have-descriptions.
const { ValidationError } = require('graphql-schema-linter/lib/validation_error');

function DirectivesHaveDescriptions(context) {
  return {
    DirectiveDefinition(node) {
      if (!node.description || !node.description.value.trim()) {
        context.reportError(new ValidationError('directives-have-descriptions',
          `The directive \`@${node.name.value}\` is missing a description.`, [node]));
      }
      for (const arg of node.arguments || []) {
        if (!arg.description || !arg.description.value.trim()) {
          context.reportError(new ValidationError('directives-have-descriptions',
            `The argument \`${arg.name.value}\` of the directive \`@${node.name.value}\` is missing a description.`, [arg]));
        }
      }
    },
  };
}

module.exports = { DirectivesHaveDescriptions };
